# sdk/src/metrics.mk — (empty until its room has code)
