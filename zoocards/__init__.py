"""zoocards: model-zoo cards in, re-verified bilingual pages out."""
