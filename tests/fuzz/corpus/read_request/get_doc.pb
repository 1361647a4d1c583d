
booksb 1/?#r1"_local(