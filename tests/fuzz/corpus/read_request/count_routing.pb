
logs-2024.053{"query":{"range":{"@timestamp":{"gte":"now-1d"}}}}"r/1 & 2