"""Static pages the gateway serves (HTML, CSS, JS; no build step). A package so it ships installed."""
