# core/config.mk — (empty until its room has code)
