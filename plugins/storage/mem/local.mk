# plugins/storage/mem/local.mk — (empty until its room has code)
