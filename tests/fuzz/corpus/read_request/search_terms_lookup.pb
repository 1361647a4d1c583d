
ordersI{"query":{"terms":{"user":{"index":"users","id":"u1","path":"friends"}}}}