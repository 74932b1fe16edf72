// plotly.js-basic-dist-min ships the same API as plotly.js (scatter, bar, pie only) without its own types.
declare module "plotly.js-basic-dist-min" {
  import Plotly from "plotly.js";
  export default Plotly;
}
