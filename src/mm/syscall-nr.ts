// Syscalls and ioctls as the mm counts them: a number each, as the kernel's syscall table gives
// one, so counting a call is an array increment rather than a property of a string-keyed record
// (a megamorphic keyed load and store on every call). The name is kept for reports.

const names: string[] = [];
const numbers = new Map<string, number>();

/** The number a call is counted under (assigned on first use; module constants ask once). */
export function syscallNr(name: string): number {
  let nr = numbers.get(name);
  if (nr === undefined) {
    nr = names.length;
    names.push(name);
    numbers.set(name, nr);
  }
  return nr;
}

/** The name of a call's number. */
export function syscallName(nr: number): string {
  return names[nr];
}
