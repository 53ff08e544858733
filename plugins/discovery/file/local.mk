# plugins/discovery/file/local.mk — the file service discovery plugin (empty until it has code)
