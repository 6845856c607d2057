"""The command line (`ispyb-hybrid`) and the embedded launcher it starts."""
