"""microseg.data"""
# datasets (torch-free; TrainingDataset lives in microseg.data.datasets / .torch_dataset)
from microseg.data.config import DataConfig, SourceConfig
from microseg.data.sample import Sample
from microseg.data.sources import load_samples
from microseg.data.splits import SplitConfig
