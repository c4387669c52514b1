"""Where stored records go. A sink writes one batch at a time and says whether it is healthy."""
