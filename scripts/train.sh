#!/usr/bin/env bash
# Trains the Rasa model into models/ (git-ignored) unless one already exists for
# exactly this bot data, the code the pipeline runs from this repository (the sentence-encoder
# featurizer and the pin of its weights) and Rasa version. Writes the model's path to models/latest.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA=${RASA:-.venv-rasa/bin/rasa}
BOT=chatbot/bot
mkdir -p models
fingerprint=$( { find "$BOT/config.yml" "$BOT/domain" "$BOT/data" -type f -name '*.yml' | LC_ALL=C sort | xargs sha256sum; sha256sum chatbot/rasa_plugins/sentence_featurizer.py requirements-rasa-nodeps.txt; "$RASA" --version 2>/dev/null | awk 'NR==1'; } | sha256sum | cut -c1-16)
model="models/bot-$fingerprint.tar.gz"
if [ -f "$model" ]; then
  echo "Model is up to date: $model"
else
  echo "Training the Rasa model (bot data changed or no model yet)..."
  "$RASA" train --config "$BOT/config.yml" --domain "$BOT/domain" --data "$BOT/data" \
    --out models --fixed-model-name "bot-$fingerprint"
fi
echo "$model" > models/latest
