415 struct machine m sim = p-
