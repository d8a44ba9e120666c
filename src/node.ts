/** `tunnelscope/node`: adapters for Node gateways (node:net / node:dgram). */
export {};
