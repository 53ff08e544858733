# sdk/src/base.mk — (empty until its room has code)
