/** Built-in domain names: ordinary web sites, and well-known VPN providers (used when no list file is given). */

export const WEB_DOMAINS: readonly string[] = [
  'example.com', 'example.org', 'wikipedia.org', 'github.com', 'stackoverflow.com', 'mozilla.org', 'debian.org',
  'python.org', 'nodejs.org', 'npmjs.com', 'bbc.co.uk', 'nytimes.com', 'reuters.com', 'apple.com', 'microsoft.com',
  'google.com', 'youtube.com', 'gstatic.com', 'googleapis.com', 'cloudflare.com', 'amazon.com', 'netflix.com',
  'spotify.com', 'twitch.tv', 'reddit.com', 'linkedin.com', 'office.com', 'live.com', 'dropbox.com', 'zoom.us',
  'slack.com', 'discord.com', 'ubuntu.com', 'archlinux.org', 'kernel.org', 'openstreetmap.org', 'weather.com',
  'booking.com', 'ebay.com', 'paypal.com', 'akamaihd.net', 'fastly.net', 'jsdelivr.net', 'unpkg.com',
];

export const VPN_PROVIDER_DOMAINS: readonly string[] = [
  'nordvpn.com', 'expressvpn.com', 'surfshark.com', 'privateinternetaccess.com', 'protonvpn.com', 'mullvad.net',
  'cyberghostvpn.com', 'ipvanish.com', 'windscribe.com', 'hotspotshield.com', 'tunnelbear.com', 'vyprvpn.com',
  'purevpn.com', 'hide.me', 'privatevpn.com', 'atlasvpn.com',
];
