/**
 * A set of strings in sorted order with O(log n) insert, delete, membership and
 * selection by rank: the live-ticket pool, which the lottery indexes by position
 * (dcrd keeps it in a treap for the same reason).
 *
 * Keys are compared with `<` on strings; the stake model uses lower-case hex of the
 * raw hash bytes, whose string order is `bytes.Compare` order of the bytes.
 * An AVL tree with subtree sizes: deterministic shape, no randomness needed.
 */
interface Node {
  key: string
  left: Node | undefined
  right: Node | undefined
  height: number
  size: number
}

const heightOf = (n: Node | undefined): number => (n === undefined ? 0 : n.height)
const sizeOf = (n: Node | undefined): number => (n === undefined ? 0 : n.size)

const update = (n: Node): Node => {
  const hl = heightOf(n.left)
  const hr = heightOf(n.right)
  n.height = (hl > hr ? hl : hr) + 1
  n.size = sizeOf(n.left) + sizeOf(n.right) + 1
  return n
}

const rotateRight = (n: Node): Node => {
  const l = n.left!
  n.left = l.right
  l.right = update(n)
  return update(l)
}

const rotateLeft = (n: Node): Node => {
  const r = n.right!
  n.right = r.left
  r.left = update(n)
  return update(r)
}

const balance = (n: Node): Node => {
  update(n)
  const bf = heightOf(n.left) - heightOf(n.right)
  if (bf > 1) {
    if (heightOf(n.left!.left) < heightOf(n.left!.right)) n.left = rotateLeft(n.left!)
    return rotateRight(n)
  }
  if (bf < -1) {
    if (heightOf(n.right!.right) < heightOf(n.right!.left)) n.right = rotateRight(n.right!)
    return rotateLeft(n)
  }
  return n
}

export class OrderedSet {
  private root: Node | undefined = undefined

  get size(): number {
    return sizeOf(this.root)
  }

  has(key: string): boolean {
    let n = this.root
    while (n !== undefined) {
      if (key === n.key) return true
      n = key < n.key ? n.left : n.right
    }
    return false
  }

  /** Adds `key`; returns false if it was already there. */
  add(key: string): boolean {
    const before = this.size
    this.root = this.insert(this.root, key)
    return this.size !== before
  }

  /** Removes `key`; returns false if it was not there. */
  delete(key: string): boolean {
    const before = this.size
    this.root = this.remove(this.root, key)
    return this.size !== before
  }

  /** The key at 0-based rank `index` in sorted order. */
  at(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`index ${index} is outside the set of ${this.size}`)
    }
    let n = this.root!
    let i = index
    for (;;) {
      const leftSize = sizeOf(n.left)
      if (i < leftSize) n = n.left!
      else if (i === leftSize) return n.key
      else {
        i -= leftSize + 1
        n = n.right!
      }
    }
  }

  /** Keys in sorted order. */
  *[Symbol.iterator](): IterableIterator<string> {
    const stack: Array<Node> = []
    let n = this.root
    while (n !== undefined || stack.length > 0) {
      while (n !== undefined) {
        stack.push(n)
        n = n.left
      }
      const top = stack.pop()!
      yield top.key
      n = top.right
    }
  }

  private insert(n: Node | undefined, key: string): Node {
    if (n === undefined) return { key, left: undefined, right: undefined, height: 1, size: 1 }
    if (key === n.key) return n
    if (key < n.key) n.left = this.insert(n.left, key)
    else n.right = this.insert(n.right, key)
    return balance(n)
  }

  private remove(n: Node | undefined, key: string): Node | undefined {
    if (n === undefined) return undefined
    if (key < n.key) n.left = this.remove(n.left, key)
    else if (key > n.key) n.right = this.remove(n.right, key)
    else {
      if (n.left === undefined) return n.right
      if (n.right === undefined) return n.left
      // Replace with the smallest key of the right subtree.
      let min = n.right
      while (min.left !== undefined) min = min.left
      n.key = min.key
      n.right = this.remove(n.right, min.key)
    }
    return balance(n)
  }
}
