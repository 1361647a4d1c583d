
-books