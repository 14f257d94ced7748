"""Containers: the engine image (`wkp-emu image build`) and the compose builder."""
