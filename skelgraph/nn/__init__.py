"""Layers and models: RRN / ARRN-LSTM and ST-LSTM / GCA-LSTM."""
