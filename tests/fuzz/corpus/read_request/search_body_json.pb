
books
logs-*
	-logs-old-{"query":{"match":{"title":"dune"}},"size":3}"tenant-a*_local2
track_total_hitstrue2
timeout2s