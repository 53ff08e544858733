# plugins/query/promql/local.mk — (empty until its room has code)
