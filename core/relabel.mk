# core/relabel.mk — relabeling (empty until its room has code)
