"""`wkp-emu function`: placeholder registration replaced below."""
