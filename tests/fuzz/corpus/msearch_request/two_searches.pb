
b
books{"query":{"match_all":{}}}"a2
request_cachetrue2#
search_typedfs_query_then_fetch
a
logs-*
	-logs-oldD{
  "size": 0,
  "aggs": {"n": {"value_count": {"field": "_id"}}}
}*_local