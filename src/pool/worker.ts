/** Worker-thread entry of the classifier pool. */
export {};
