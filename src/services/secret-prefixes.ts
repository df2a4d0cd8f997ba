/**
 * Which end of a stream could still grow into a secret: an Aho–Corasick automaton over the forms of the registered
 * secrets, fed chunk by chunk (amortised O(1) per character), so a chunk never makes the stream be read again.
 */

const ROOT = 0;
const NONE = -1;

export class SecretPrefixes {
  /**
   * Children by UTF-16 code unit. Forms are random text, so nearly every node past the first few characters has one
   * child: that one is kept in two arrays, and only the nodes where forms part ways get a map.
   */
  private readonly onlyCode: number[] = [NONE];
  private readonly onlyChild: number[] = [NONE];
  private readonly branches = new Map<number, Map<number, number>>();
  /** The node of the longest proper suffix of a node's text that is also a node. */
  private readonly fail: number[] = [ROOT];
  private readonly depth: number[] = [0];
  /** The node of the longest suffix of a node's text (itself included) that some longer form continues. */
  private readonly open: number[] = [ROOT];
  /** The length of the shortest form through each node. */
  private readonly shortest: number[] = [Infinity];

  constructor(forms: Iterable<string>) {
    for (const form of forms) this.insert(form);
    this.link();
  }

  /** The state after `state` reads `text`; state 0 is the start. */
  advance(state: number, text: string): number {
    for (let i = 0; i < text.length; i++) state = this.next(state, text.charCodeAt(i));
    return state;
  }

  /**
   * The length of the longest end of what was read, at most `within` characters, that is the start of a form and
   * not yet a whole one: the part that must wait for more text before anyone sees it.
   */
  openLength(state: number, within: number): number {
    let node = this.open[state]!;
    while (this.depth[node]! > within) node = this.open[this.fail[node]!]!;
    return this.depth[node]!;
  }

  /**
   * The length of the longest end of what was read, at most `within` characters, that is more than half of a form
   * it starts (0 if none): when the stream stops there, that much of a secret is the secret, bar a guess.
   */
  mostlyShownLength(state: number, within: number): number {
    for (let node = this.open[state]!; node !== ROOT; node = this.open[this.fail[node]!]!) {
      if (this.depth[node]! <= within && this.depth[node]! * 2 > this.shortest[node]!) return this.depth[node]!;
    }
    return 0;
  }

  private next(state: number, code: number): number {
    for (;;) {
      const child = this.child(state, code);
      if (child !== undefined) return child;
      if (state === ROOT) return ROOT;
      state = this.fail[state]!;
    }
  }

  private child(node: number, code: number): number | undefined {
    if (this.onlyCode[node] === code) return this.onlyChild[node];
    return this.branches.get(node)?.get(code);
  }

  private children(node: number): Iterable<[code: number, child: number]> {
    const only = this.onlyCode[node]!;
    return only === NONE ? (this.branches.get(node) ?? []) : [[only, this.onlyChild[node]!]];
  }

  private insert(form: string): void {
    let node = ROOT;
    for (let i = 0; i < form.length; i++) {
      const code = form.charCodeAt(i);
      let child = this.child(node, code);
      if (child === undefined) {
        child = this.depth.length;
        this.addChild(node, code, child);
        this.depth.push(this.depth[node]! + 1);
        this.fail.push(ROOT);
        this.open.push(ROOT);
        this.onlyCode.push(NONE);
        this.onlyChild.push(NONE);
        this.shortest.push(form.length);
      }
      node = child;
      this.shortest[node] = Math.min(this.shortest[node]!, form.length);
    }
  }

  private addChild(node: number, code: number, child: number): void {
    const branch = this.branches.get(node);
    if (branch) {
      branch.set(code, child);
    } else if (this.onlyChild[node] === NONE) {
      this.onlyCode[node] = code;
      this.onlyChild[node] = child;
    } else {
      this.branches.set(node, new Map([[this.onlyCode[node]!, this.onlyChild[node]!], [code, child]]));
      this.onlyCode[node] = NONE;
      this.onlyChild[node] = NONE;
    }
  }

  /** Failure links breadth first, so a node's are known before its children's. */
  private link(): void {
    const queue = [ROOT];
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]!;
      const children = [...this.children(node)];
      this.open[node] = children.length > 0 ? node : this.open[this.fail[node]!]!;
      for (const [code, child] of children) {
        this.fail[child] = node === ROOT ? ROOT : this.next(this.fail[node]!, code);
        queue.push(child);
      }
    }
  }
}
