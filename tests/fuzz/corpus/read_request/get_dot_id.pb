
books..