"""The simulated stack: engine pods, the function, the network, the world that holds them."""
