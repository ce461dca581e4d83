"""The command-line layer: argument parsing, progress and exit codes, nothing else."""
