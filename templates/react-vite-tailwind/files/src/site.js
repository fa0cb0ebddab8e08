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
  features: [[ ["Add " ~ item_noun_plural ~ " in a second and tick them off when they are done", "Search and filter to find any " ~ item_noun ~ " quickly", "Saved in this browser with no account, or with yours once you sign in", "Light and dark mode, and it works on your phone"]|tojson ]],
[% endif %]
  // Prefix for everything this app keeps in localStorage.
  storageKey: [[ slug|tojson ]],
}
