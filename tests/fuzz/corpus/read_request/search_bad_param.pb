
books2
scroll1m