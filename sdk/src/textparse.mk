# sdk/src/textparse.mk — (empty until its room has code)
