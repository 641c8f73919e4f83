"""Lightning glue: the LightningModule, callbacks, checkpoint writing and loading, run folders."""
