
"
books2
ignore_unavailableyes