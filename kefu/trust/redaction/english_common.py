"""BIP-39 English words that are also everyday support-chat words ("about", "account", "please" …).

A random seed phrase draws about one word in five from this set; ordinary sentences draw most of
their wordlist words from it, which tells a pasted phrase from prose that happens to use list words.
"""

from __future__ import annotations

_WORDS = """
about above account across action actual address again agent ahead allow almost alone already also
always amount answer any appear area around arrive ask attend avoid away balance basic because become
before begin behind believe below best better between bind bring brother business busy call can card
case cash cause change chat check child choose city claim clean client close coin come company confirm
connect control correct cost country cover cry current damage danger day deal decide delay deposit
detail device differ dinner direct doctor document door double draw dream drive during early easy either
else empty end enough enter entire error escape evidence exact example exchange exist expect explain
face faith family fee field file final find fine first fix follow force forget fortune forward found
friend front fun funny future game gas general gift give glad good great group guess guide happy have
hello help hidden high history hold home hope hour hurry idea identify image impact include income
increase index indicate inform inner inquiry inside into issue item job join just keep key kind know
large later learn leave left legal level life light like limit link list little live local lock long
loud love lucky main make manage market matter mean message method middle minute miss mistake moment
month more morning mother move much must name nation near need never news next nice night normal note
nothing notice now number obvious office often okay old once one only open option order other over own
page paper parent pass people perfect phone photo picture place please point police possible post price
private problem process profit proof provide public pull purpose push put question quick quit rather
ready real reason receive record reduce refuse region regular reject release rely remain remember remind
remove render repeat report require rescue response result return review right road round rule safe same
satisfy save say scan school screen search second secret section security seed seek select sell sense
service session settle seven share short side sign similar simple since size slow small social solution
solve soon sorry sort sound source space speak special spend stand start state stay step still stock
story street stuff subject submit success such sudden suggest sure system talk task team tell ten term
test thank that then there they thing this three time tired today together token tomorrow tonight total
track trade transfer trap trust truth try turn two type under unit until update upgrade upon usage use
useful usual valid verify very video view visa wait walk want wash waste way wealth weekend welcome what
when where wide wife will win wish woman wonder word work world worry worth write wrong year you young
zero
"""
COMMON_WORDS = frozenset(_WORDS.split())
