"""Training of Strategisök's own Swedish embedding model: pairs from the public government
corpus (`pairs`), in-batch-negatives training (`train_embedder`) and a dense-only dev
evaluation (`evaluate_dense`). Not imported by the application; needs ../shared to run."""
