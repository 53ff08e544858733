# plugins/storage/tsdb/local.mk — (empty until its room has code)
