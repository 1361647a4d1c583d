
products'
%
query*

term*

skup-7