"""GLM model, tokenizer, checkpoint I/O and heads. Depends only on torch and the tokenizer libraries."""
