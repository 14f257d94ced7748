"""The cluster the membership tests drive: the simulator's SWIM cluster (sim.swim_cluster).

Real cores on a virtual network and a hand-moved clock; see sim/swim_cluster.py.
"""
from sim.swim_cluster import FAST, Cluster

__all__ = ["FAST", "Cluster"]
