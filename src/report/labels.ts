/** Label order and names everywhere on the page: index 0 registered, 1 unregistered, 2 ordinary (the `lab` column). */
export const LABELS = ['registered_vpn', 'unregistered_vpn', 'ordinary'] as const;
export const LABEL_TEXT = ['Registered VPN', 'Unregistered VPN', 'Ordinary'] as const;
