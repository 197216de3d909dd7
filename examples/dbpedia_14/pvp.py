# coding=utf-8
# Pattern-verbalizer pairs for THUDM/GLM (examples/dbpedia_14). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `dbpedia_14`.

from typing import Dict, List

from tasks.superglue.pvp import PVP


class Dbpedia14PVP(PVP):
    """dbpedia_14: one pattern per id; text_a and text_b as dataset.py builds them."""

    PATTERNS = {
        0: '"<title>. <content> Category: [MASK]." -> company | educational institution | ... | written work',
        1: '"<content> <title> is [MASK]." -> a company | an educational institution | ... | a written work',
        2: '"[MASK]: <title>. <content>" -> Company | Educational institution | ... | Written work (answer first)',
    }
    VERBALIZERS = {  # type: Dict[int, Dict[str, str]]
        0: {
            'Company': ' company',
            'EducationalInstitution': ' educational institution',
            'Artist': ' artist',
            'Athlete': ' athlete',
            'OfficeHolder': ' office holder',
            'MeanOfTransportation': ' means of transportation',
            'Building': ' building',
            'NaturalPlace': ' natural place',
            'Village': ' village',
            'Animal': ' animal',
            'Plant': ' plant',
            'Album': ' album',
            'Film': ' film',
            'WrittenWork': ' written work',
        },
        1: {
            'Company': ' a company',
            'EducationalInstitution': ' an educational institution',
            'Artist': ' an artist',
            'Athlete': ' an athlete',
            'OfficeHolder': ' an office holder',
            'MeanOfTransportation': ' a means of transportation',
            'Building': ' a building',
            'NaturalPlace': ' a natural place',
            'Village': ' a village',
            'Animal': ' an animal',
            'Plant': ' a plant',
            'Album': ' an album',
            'Film': ' a film',
            'WrittenWork': ' a written work',
        },
        2: {
            'Company': 'Company',
            'EducationalInstitution': 'Educational institution',
            'Artist': 'Artist',
            'Athlete': 'Athlete',
            'OfficeHolder': 'Office holder',
            'MeanOfTransportation': 'Means of transportation',
            'Building': 'Building',
            'NaturalPlace': 'Natural place',
            'Village': 'Village',
            'Animal': 'Animal',
            'Plant': 'Plant',
            'Album': 'Album',
            'Film': 'Film',
            'WrittenWork': 'Written work',
        },
    }
    MULTI_TOKEN = {0: True, 1: True, 2: True}

    @staticmethod
    def available_patterns():
        return [0, 1, 2]

    @property
    def is_multi_token(self):
        # Several label words take more than one token: every candidate is scored by blank infilling.
        return self.MULTI_TOKEN[self.pattern_id]

    def get_parts(self, example):
        if self.pattern_id == 0:
            return [self.shortenable(self.remove_final_punc(example.text_a)), '.'], [self.shortenable(' ' + (example.text_b or "")), ' Category:', [self.mask], '.']
        elif self.pattern_id == 1:
            return [self.shortenable((example.text_b or ""))], [self.shortenable(' ' + self.remove_final_punc(example.text_a)), ' is', [self.mask], '.']
        elif self.pattern_id == 2:
            return [[self.mask], ':', self.shortenable(' ' + self.remove_final_punc(example.text_a)), '.'], [self.shortenable(' ' + (example.text_b or ""))]
        raise ValueError("no pattern {} (available: {})".format(self.pattern_id, self.available_patterns()))

    def verbalize(self, label) -> List[str]:
        return [self.VERBALIZERS[self.pattern_id][label]]
