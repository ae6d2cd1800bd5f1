"""What a person reads or looks at: words and terminal tables, image grids, plots, the HTML
report and the latent explorer."""
