
Orders*{}