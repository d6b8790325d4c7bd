"""Pure territory rules: plain data in, plain data out. No I/O, no frameworks."""
