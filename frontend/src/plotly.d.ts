// plotly.js-dist-min ships the same API as plotly.js without its own types.
declare module "plotly.js-dist-min" {
  import Plotly from "plotly.js";
  export default Plotly;
}
