// Everything a person is likely to want to change about this app, in one place.
export const site = {
  title: [[ title|tojson ]],
  // The logo's letter, worked out by Forja so an emoji is never cut in half.
  initial: [[ initial|tojson ]],
  tagline: [[ tagline|tojson ]],
  itemNoun: [[ item_noun|tojson ]],
  itemNounPlural: [[ item_noun_plural|tojson ]],
[% if features %]
  features: [[ features|tojson ]],
[% else %]
  features: [[ ["Add " ~ item_noun_plural ~ " and tick them off when they are done", "Everything is saved on the server, so it is there on every device", "Search and filter to find any " ~ item_noun ~ " quickly", "Light and dark mode, and it works on your phone"]|tojson ]],
[% endif %]
  // Prefix for what this app keeps in localStorage (only the theme; the data lives in the API).
  storageKey: [[ slug|tojson ]],
}
