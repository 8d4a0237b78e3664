/** A Map that forgets its oldest entries past `max` (insertion order): the in-process caches' bound. */
export class Bounded<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    return this.m.get(k);
  }
  set(k: string, v: V): void {
    if (!this.m.has(k) && this.m.size >= this.max) {
      const oldest = this.m.keys().next().value;
      if (oldest !== undefined) this.m.delete(oldest);
    }
    this.m.set(k, v);
  }
  delete(k: string): void {
    this.m.delete(k);
  }
}
