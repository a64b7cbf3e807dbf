declare module "jstat" {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  const jstat: {
    jStat: {
      studentt: Distribution;
      normal: Distribution;
      /** The regularized incomplete beta function I_x(a, b). */
      ibeta(x: number, a: number, b: number): number;
    };
  };
  export default jstat;
}
